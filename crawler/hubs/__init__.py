"""Plain HTTP knowledge per hub: URLs, parameters, paginators, rate-limit headers. No Scrapy imports."""
