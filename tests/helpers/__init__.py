"""What tests share besides fixtures: ``app`` (records, loading them, an app's services),
``paths`` (the repository, test data, ../shared), ``servers`` (real servers on free ports),
``instances`` (real deployments: databases of their own, ``make serve``), ``slowapp`` (a WSGI
module with slowed renderers for kill -9 tests), ``chat_apis`` (strict local Telegram and Zalo
APIs that fail on demand), ``relay`` (a live service with the hub, ``feedsvc relay``
processes). Fixtures live in conftest.py and use these."""
