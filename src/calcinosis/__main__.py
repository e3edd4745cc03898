from calcinosis.cli import main

main()
