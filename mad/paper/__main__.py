"""python -m mad.paper: see mad.paper."""

from mad.paper import main

raise SystemExit(main())
