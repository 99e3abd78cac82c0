//! MNIST data: IDX parsing, download, cache.
