"""Leads: the people who opted in to a magnet, and what may be done with their data."""
