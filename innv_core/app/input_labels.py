"""What ``innv analyze`` says about each input: its name, the predicted class (with its
probability where the model gives one), what was explained, in class names where known."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from innv_core.utils.class_names import class_name

__all__ = ["InputLabel"]


@attrs.frozen
class InputLabel:
    """One input's label.

    Attributes:
        name: the input's name (its file, or ``input_0000``).
        predicted: the class of the largest entry of the explained output.
        explained: the explained class, or a description (``"sum of all"``).
        probability: the predicted class's probability, if the model ends in a softmax.
    """

    name: str
    predicted: int
    explained: int | str
    probability: float | None = None

    def predicted_text(self, classes: Sequence[str] | None = None) -> str:
        """``"tabby (p=0.93)"``, ``"tabby"`` without a probability, ``"281"`` without names."""
        p = f" (p={self.probability:.2f})" if self.probability is not None else ""
        return f"{class_name(self.predicted, classes)}{p}"

    def explained_text(self, classes: Sequence[str] | None = None) -> str:
        return self.explained if isinstance(self.explained, str) else class_name(self.explained, classes)

    def row_label(self, classes: Sequence[str] | None = None) -> str:
        """The grid's row label: the name, the prediction, what was explained (three lines)."""
        return f"{self.name}\npred. {self.predicted_text(classes)}\nexplained {self.explained_text(classes)}"

    def title(self, method: str, classes: Sequence[str] | None = None) -> str:
        """A heatmap's title: the method and the input's label on one line."""
        return (f"{method}: {self.name} (pred. {self.predicted_text(classes)}, explained "
                f"{self.explained_text(classes)})")
