"""Small reusable widgets: form rows with per-field error labels, banners."""
