"""``feedsvc relay``: each new story of the followed feeds, once, to Telegram chats, Zalo
Official Account recipients and signed webhooks.

config (the ``[relay]`` table of the settings file) -> follower (WebSub push, conditional-GET
polling) -> outbox (one database row per story and destination) -> sender (one thread per
destination: pace, retries) -> destinations/ (telegram, zalo, webhook), with message (the
story and how each kind shows it), callback (the WebSub callback server) and runner (wiring).
"""
