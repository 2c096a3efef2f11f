import Gonghui

await Entrypoint.main()
