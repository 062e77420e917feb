"""The scheme's records and the HTTP service (SPEC section 6).

Handlers stay thin: they validate, call a function of ``service.records`` modules (which use
``matcher`` and ``solver``), and shape the answer. The web layer never builds a model.
"""
