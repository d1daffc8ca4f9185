"""Shared building blocks: model mixins, column types, audit history, pagination."""
