"""After-sales (售后): refund before shipment, return and exchange after shipment, refund-only
(仅退款) within its window, invoices (发票); and the refunds they make — each reversing the
payment and the lines' promotion allocations exactly, unit by unit."""
