# The catalog takes no inputs: it is the one literal list of what runs where, read by both
# environments and checked against the code by test/unit/terraform/terraform.test.ts.
