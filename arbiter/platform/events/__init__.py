"""Platform events: what one module tells the others (an order paid, a refund made), kept in
an outbox table written in the same transaction as the change it reports."""
