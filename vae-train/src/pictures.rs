//! PNG pictures and plots.
