"""A Hypothesis strategy shared by the parser fuzz tests: real files, cut short and overwritten in places."""

from hypothesis import strategies as st


@st.composite
def damaged(draw, samples: list[bytes], max_cut: int = 200, max_offset: int = 10**6) -> bytes:
    """One of `samples` with up to `max_cut` bytes cut off its end and up to six short overwrites."""
    sample = draw(st.sampled_from(samples))
    data = bytearray(sample[:len(sample) - draw(st.integers(0, max_cut))])
    for position, replacement in draw(st.lists(st.tuples(st.integers(0, max_offset), st.binary(max_size=3)),
                                               max_size=6)):
        at = position % (len(data) + 1)
        data[at:at + len(replacement)] = replacement
    return bytes(data)
