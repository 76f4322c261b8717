"""The public opportunity list (机遇清单): no sign-in, read only, bilingual."""
