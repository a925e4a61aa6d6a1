from ryotgen.cli import main

main()
