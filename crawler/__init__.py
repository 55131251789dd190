"""hubtree crawler: hub clients, Scrapy spiders, record parsing and the store.

Data flows one way: hub → crawler → store. Nothing here imports ``analysis``.
"""
