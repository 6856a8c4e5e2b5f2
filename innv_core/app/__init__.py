"""The application built on the library: the ``innv`` command line and what only it needs.

:mod:`.cli` (the commands), :mod:`.report` and :mod:`.report_page` (``innv analyze --report``),
:mod:`.heatmap_files` (the files ``innv analyze`` writes), :mod:`.files` and :mod:`.keras_file`
(inputs and models read from files), :mod:`.name_index` (``innv list`` without loading plugins
twice), :mod:`.progress`, :mod:`.demo`, and the generated documentation: :mod:`.supported_layers`
(the supported-layers page) and :mod:`.api_tables` (the parameter tables of ``docs/api``).

It uses the library's public API only, and nothing in the core or the plugins imports it
(``tests/test_layering.py``). Importing this package imports neither TensorFlow nor Keras.
"""
