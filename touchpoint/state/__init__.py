"""The state table: its key layout and items (``items``), the operations on it written once
(``repository``) and the storage interface they run over (``storage``)."""
