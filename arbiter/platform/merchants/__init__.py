"""Merchants (商户管理): onboarding (application with qualifications and category scope,
review, deposit, the shop opened), the lifecycle (active, restricted, suspended, closed, each
change recorded with its reason), the merchant score read by rules as `shop.score`, and the
merchant's own operations cut down to its shop (`operations`, with a `MerchantActor`)."""
