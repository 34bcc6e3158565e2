"""Daily knowledge impulses: content files, rendering, rotation, schedules, exactly-once posts."""
