"""Real requests from the Space: collected (``spaces_demo``), pulled and reviewed
(``feedback pull`` / ``feedback review``), published as a versioned dataset
(``feedback publish``), and used by ``train --real-data`` and ``calibrate --real-data``."""
