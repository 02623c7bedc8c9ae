"""The human-written dev set (``human_dev.jsonl``) and a typo'd view of it."""
