"""The dashboard's helpers: Streamlit glue (``widgets``) and the torch-free logic the pages call."""
