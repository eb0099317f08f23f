"""A footer that shows whole bindings only: at 80 columns Textual's footer cut the last one mid-word
(`… s Scan a ▏^p paletteo`). Bindings are shown in the order the screen declares them (most important first) for
as long as they fit beside the command-palette key; the rest are hidden here and stay reachable (their keys work,
`?` lists them, the palette runs them)."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class FittingFooter(Footer):
    DEFAULT_CSS = """
    FittingFooter {
        overflow-x: hidden;
        scrollbar-size-horizontal: 0;
    }
    """

    hidden_keys: list[str]

    def on_resize(self, _: events.Resize) -> None:
        self._refit()

    def on_mount(self) -> None:
        super().on_mount()
        self._refit()

    async def recompose(self) -> None:
        await super().recompose()
        self._refit()

    def _refit(self) -> None:
        keys = list(self.query(FooterKey))
        for key in keys:
            key.display = True
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        keys = list(self.query(FooterKey))
        palette = [k for k in keys if k.has_class("-command-palette")]
        room = self.size.width - sum(_width(k) for k in palette)
        used = 0
        self.hidden_keys = []
        for key in keys:
            if key in palette:
                continue
            used += _width(key)
            if used > room:
                key.display = False
                self.hidden_keys.append(key.key)

    @property
    def shown_keys(self) -> list[str]:
        return [k.key for k in self.query(FooterKey) if k.display and not k.has_class("-command-palette")]


def _width(key: FooterKey) -> int:
    if key.outer_size.width:
        return key.outer_size.width + key.styles.margin.width
    # Not laid out yet: the footer of a screen under a dialog recomposes (its focus moved) but is not arranged
    # again until it is shown, and a width of 0 would let every key "fit".
    size = key.app.size
    return key.get_content_width(size, size) + key.styles.gutter.width + key.styles.margin.width
