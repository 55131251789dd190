"""Scrapy spiders: one per hub. Each lists pages into the store and then follows up per-model where needed."""
