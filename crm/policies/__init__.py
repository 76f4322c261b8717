"""Policy packages (一企一策): the support granted to an enterprise, tied to its projects."""
