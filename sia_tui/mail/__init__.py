"""Email: templates with MSIA's dynamic fields, building the message, and sending it over SMTP."""
