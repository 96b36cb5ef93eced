from touchpoint.cli.main import main

raise SystemExit(main())
