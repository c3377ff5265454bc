"""The cart (购物车): what a user means to buy, grouped by shop, priced by the trial on every
view; and the product page's final price (到手价), the trial of a one-line cart."""
