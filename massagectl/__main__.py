"""`python -m massagectl` is the same as the `massagectl` command."""

from massagectl.controller.cli import main

raise SystemExit(main())
