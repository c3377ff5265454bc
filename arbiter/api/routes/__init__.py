"""HTTP routes, one module per area; each exposes `router() -> APIRouter`, built on demand."""
