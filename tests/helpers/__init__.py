"""What tests share besides fixtures: ``app`` (records, loading them, an app's services),
``paths`` (the repository, test data, ../shared), ``servers`` (real servers on free ports),
``instances`` (real deployments: databases of their own, ``make serve``), ``slowapp`` (a WSGI
module with slowed renderers for kill -9 tests). Fixtures live in conftest.py and use these."""
