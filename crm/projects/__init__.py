"""Investment projects (招商项目): lifecycle, funds in place, policies and the figures."""
