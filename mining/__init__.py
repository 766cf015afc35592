"""Mining: reads the event store and discovers how procedures really run."""
