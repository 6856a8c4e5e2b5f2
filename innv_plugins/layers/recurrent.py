"""Plugin: ``LSTM``, ``GRU``, ``SimpleRNN`` and ``Bidirectional`` (kind ``recurrent``).

LRP unrolls the layer's recurrence with gradient rules (:mod:`innv_plugins.lrp.recurrent`),
following Arras et al. 2017 ("Explaining recurrent neural network predictions in sentiment
analysis", WASSA; code: github.com/ArrasL/LRP_for_LSTM, ``code/LSTM/LSTM_bidi.py``) with
``bias_factor=0``:

- every linear map (``W x + U h + b``, and the sums ``c = f*c_prev + i*g``,
  ``h = z*h_prev + (1-z)*n``) splits its relevance by the epsilon rule ``z + eps*sign(z)``,
  ``sign(0) = +1``; biases and the stabilizer keep their share (it is absorbed);
- gates (LSTM's input, forget and output gates; GRU's update and reset gates) are held constant
  and receive nothing ("signal-take-all"); the signal they multiply takes all the relevance;
- elementwise activations (``tanh``, SimpleRNN's activation) pass relevance unchanged;
- masked time steps (``Embedding(mask_zero=True)``, ``Masking``) are skipped as Keras skips them:
  the state is carried, so relevance crosses them unchanged and their inputs get exactly 0;
- ``Bidirectional``: each direction as above, the backward direction's input relevance flipped
  back to the original time order and added; ``concat`` gives each direction its slice, ``sum``
  and ``ave`` split in proportion to the two directions' outputs (the z-rule of a bias-free
  linear map, their true gradient), ``mul`` (a product of two signals) gives each half (the
  uniform rule, AttnLRP's convention for products).

Gradient-based analyzers use the layers' gradient. See :mod:`innv_plugins.lrp.recurrent` for
the GRU convention and the details.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import RECURRENT, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.LSTM, L.GRU, L.SimpleRNN, L.Bidirectional):
        registry.add_layer(cls, LayerHandler(kind=RECURRENT))
