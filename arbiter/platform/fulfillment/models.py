"""The fulfilment tables: shipments (one per order and route) and their logistics events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from arbiter.platform.columns import NAME_LENGTH, time_column


class Shipment(SQLModel, table=True):
    """A parcel (or a real-time purchase) fulfilling some lines of an order. `purpose` is
    `order` for the first delivery and `exchange:<case>` for a replacement."""

    __tablename__ = "fulfillment_shipment"
    __table_args__ = (
        UniqueConstraint("order_id", "route", "purpose", name="uq_fulfillment_shipment"),
        Index("ix_fulfillment_shipment_tracking", "carrier", "tracking_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64, index=True)
    route: str = Field(max_length=32)  # warehouse | dropship | supplier_realtime
    purpose: str = Field(default="order", max_length=80)
    lines: str = Field(sa_column=Column(Text, nullable=False))  # JSON [[line_id, units], ...]
    status: str = Field(max_length=16)  # pending | shipped | delivered | fulfilled | failed
    carrier: str | None = Field(default=None, max_length=NAME_LENGTH)
    tracking_no: str | None = Field(default=None, max_length=NAME_LENGTH)
    created_at: datetime = time_column(nullable=False)
    updated_at: datetime = time_column(nullable=False)


class ShipmentEvent(SQLModel, table=True):
    """One logistics event of a shipment (picked up, in transit, delivered, ...)."""

    __tablename__ = "fulfillment_event"
    __table_args__ = (UniqueConstraint("shipment_id", "key", name="uq_fulfillment_event"),)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(index=True)
    key: str = Field(max_length=NAME_LENGTH)  # the carrier's event id: a repeat is recorded once
    status: str = Field(max_length=32)
    note: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = time_column(nullable=False)
