"""Runnable examples of aioultra."""
