"""The monthly ranking (月通报): live figures, publishing, .xlsx and print."""
