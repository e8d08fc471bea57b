// The exported-symbols check links the whole static libopsmeter into a shared library; a
// shared library target needs one source of its own, and this is it.
