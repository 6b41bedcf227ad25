"""Database access for zhiyin: SQLAlchemy models, engine and session handling.

The URL comes from ``DATABASE_URL`` (any SQLAlchemy URL; PostgreSQL works with the bundled
psycopg2 driver). Without it, a SQLite file under ``var/`` in the project root is used.
The schema is managed by Alembic (zhiyin/migrations): a change to these models comes with a
migration, which tests/zhiyin/test_migrations.py checks.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, registry, relationship, sessionmaker, validates
from sqlalchemy.orm.decl_api import DeclarativeMeta

from zhiyin.crypto import EncryptedText, lookup_hash
from zhiyin.settings import database_url

mapper_registry = registry()


class Base(metaclass=DeclarativeMeta):
    """Declarative base, spelled out as a class so that type checkers see one (SQLAlchemy 1.4)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


class Company(Base):
    __tablename__ = "companies"

    name = Column(String(64), primary_key=True)
    aliases = Column(JSON, nullable=False, default=list)


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    sku = Column(String(32), unique=True, nullable=False)
    name = Column(String(128), unique=True, nullable=False)
    company = Column(String(64), ForeignKey("companies.name"), nullable=False, index=True)
    category = Column(String(32), nullable=False, index=True)
    # Money is stored in fen (1/100 yuan) as an integer: exact on every backend.
    price_fen = Column(Integer, nullable=False)
    stock = Column(Integer, nullable=False, default=0)
    warranty = Column(String(128), nullable=False, default="")
    specs = Column(JSON, nullable=False, default=dict)
    aliases = Column(JSON, nullable=False, default=list)

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_fen) / 100


class Order(Base):
    __tablename__ = "orders"

    order_id = Column(String(12), primary_key=True)
    product_sku = Column(String(32), ForeignKey("products.sku"), nullable=False)
    quantity = Column(Integer, nullable=False, default=1)
    phone = Column(String(11), nullable=False)
    status = Column(String(16), nullable=False)
    carrier = Column(String(32))
    tracking_no = Column(String(32))
    created_at = Column(DateTime, nullable=False)  # when it was placed and paid
    unit_price_fen = Column(Integer, nullable=False)  # what the customer paid per item
    payment_method = Column(String(32))  # 支付宝, 微信支付, 银行卡, 花呗 …: where refunds go back
    address = Column(String(256))
    delivery_date = Column(Date)  # the promised or agreed delivery day

    product = relationship(Product, lazy="joined")
    events = relationship(
        "TrackingEvent",
        order_by="TrackingEvent.time",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class PricePoint(Base):
    """A product's price from `valid_from` on: the history that price protection compares against."""

    __tablename__ = "price_history"

    id = Column(Integer, primary_key=True)
    product_sku = Column(String(32), ForeignKey("products.sku"), nullable=False, index=True)
    price_fen = Column(Integer, nullable=False)
    valid_from = Column(DateTime, nullable=False)


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    time = Column(DateTime, nullable=False)
    location = Column(String(64), nullable=False, default="")
    description = Column(String(256), nullable=False)


class OrderAction(Base):
    """What zhiyin did to an order on a customer's request (cancel, new address, urge…): the audit
    trail the support team reads."""

    __tablename__ = "order_actions"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    kind = Column(String(24), nullable=False)
    detail = Column(Text, nullable=False, default="")
    channel = Column(String(32))
    sender = Column(String(128))
    created_at = Column(DateTime, nullable=False, default=datetime.now)


class Refund(Base):
    __tablename__ = "refunds"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    amount_fen = Column(Integer, nullable=False)
    reason = Column(String(64), nullable=False)  # 取消订单, 退货, 价保差价 …
    destination = Column(String(32))  # where the money goes back (the order's payment method)
    status = Column(String(16), nullable=False, default="退款中")  # 退款中 / 已到账
    requested_at = Column(DateTime, nullable=False, default=datetime.now)
    completed_at = Column(DateTime)


class AfterSalesCase(Base):
    """A return, exchange or repair the customer has applied for on an order."""

    __tablename__ = "after_sales_cases"

    id = Column(Integer, primary_key=True)
    case_no = Column(String(20), unique=True, nullable=False)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # return / exchange / repair
    status = Column(String(16), nullable=False)  # 待审核, 待取件, 已取件, 检测中, 维修中, 已寄回, 已完成, 已驳回
    reason = Column(String(256), nullable=False, default="")
    pickup_at = Column(DateTime)  # when the courier comes to collect the goods
    note = Column(String(256), nullable=False, default="")
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)


class InvoiceRequest(Base):
    __tablename__ = "invoice_requests"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # normal (电子普通发票) / special (增值税专用发票)
    title = Column(String(128), nullable=False)  # 抬头: 个人 or a company name
    tax_id = Column(String(18))  # 统一社会信用代码, required for a company
    email = Column(String(128), nullable=False)
    status = Column(String(16), nullable=False, default="开票中")  # 开票中 / 已开具
    invoice_no = Column(String(20))
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    issued_at = Column(DateTime)
    channel = Column(String(32))
    sender = Column(String(128))

    @property
    def number(self) -> str:
        """The request number quoted to customers, e.g. ``FP202611270003``."""
        return f"FP{self.created_at:%Y%m%d}{self.id:04d}"


class PriceProtectionClaim(Base):
    __tablename__ = "price_protection_claims"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    paid_fen = Column(Integer, nullable=False)  # per item
    price_fen = Column(Integer, nullable=False)  # the price at the time of the claim, per item
    refund_fen = Column(Integer, nullable=False, default=0)  # for the whole order; 0 when rejected
    approved = Column(Boolean, nullable=False)
    reason = Column(String(256), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=datetime.now)


class InstallationBooking(Base):
    __tablename__ = "installation_bookings"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(12), ForeignKey("orders.order_id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # install / repair
    day = Column(Date, nullable=False)
    window = Column(String(16), nullable=False)  # morning / afternoon
    address = Column(String(256), nullable=False)
    status = Column(String(16), nullable=False, default="已预约")
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    channel = Column(String(32))
    sender = Column(String(128))

    @property
    def number(self) -> str:
        """The booking number quoted to customers, e.g. ``AZ202611270001``."""
        return f"AZ{self.created_at:%Y%m%d}{self.id:04d}"


class Staff(Base):
    """A person on the support team who works in the desk (/agent/): an agent or a lead."""

    __tablename__ = "staff"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    display_name = Column(String(64), nullable=False)  # what customers see: 客服{display_name}
    role = Column(String(16), nullable=False, default="agent")  # agent / lead
    password_hash = Column(String(256), nullable=False)  # Argon2id
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=datetime.now)


class StaffSession(Base):
    """A signed-in desk session; the cookie holds the token, the database only its SHA-256."""

    __tablename__ = "staff_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), unique=True, nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    last_seen_at = Column(DateTime, nullable=False, default=datetime.now)
    expires_at = Column(DateTime, nullable=False)

    staff = relationship(Staff, lazy="joined")


class LoginFailure(Base):
    """A failed desk login, counted per username and per client address to throttle guessing."""

    __tablename__ = "login_failures"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    address = Column(String(64), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=datetime.now)


class Ticket(Base):
    """A complaint, suggestion, handoff or call-back request that a person on the team follows up.

    Workflow: open -> in_progress -> resolved -> closed. A handoff that an agent holds
    (in_progress with an assignee and `claimed_at`) is a live conversation the bot stays out of.
    """

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False, index=True)
    text = Column(EncryptedText, nullable=False)  # the customer's words: encrypted at rest
    order_id = Column(String(12))
    product = Column(String(128))
    phone = Column(EncryptedText)
    phone_hash = Column(String(64), index=True)  # zhiyin.crypto.lookup_hash(phone), set with it
    channel = Column(String(32))
    sender = Column(String(128))
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    status = Column(String(16), nullable=False, default="open")
    assignee_id = Column(Integer, ForeignKey("staff.id"), index=True)
    updated_at = Column(DateTime)
    claimed_at = Column(DateTime)  # when an agent took the live conversation over
    first_response_at = Column(DateTime)  # the first agent reply to the customer
    closed_at = Column(DateTime)
    rating = Column(Integer)  # the customer's satisfaction, 1-5, after the conversation was closed

    assignee = relationship(Staff, lazy="joined")

    @validates("phone")
    def _hash_phone(self, _key: str, phone: Optional[str]) -> Optional[str]:
        self.phone_hash = lookup_hash(phone)
        return phone

    @property
    def number(self) -> str:
        """The ticket number quoted to customers, e.g. ``ZY202611270042``."""
        return f"ZY{self.created_at:%Y%m%d}{self.id:04d}"


class TicketNote(Base):
    """An internal note on a ticket: the team sees it, the customer never does."""

    __tablename__ = "ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    author_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    text = Column(EncryptedText, nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.now)

    author = relationship(Staff, lazy="joined")


class TicketChange(Base):
    """Who changed what on a ticket, and when (status, assignee, a phone number revealed…).

    `actor_id` is empty for changes the system made (a claim that timed out)."""

    __tablename__ = "ticket_changes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    actor_id = Column(Integer, ForeignKey("staff.id"))
    field = Column(String(32), nullable=False)
    old = Column(String(128))
    new = Column(String(128))
    at = Column(DateTime, nullable=False, default=datetime.now)

    actor = relationship(Staff, lazy="joined")


class AgentMessage(Base):
    """What an agent wrote to a customer; `delivered_at` stays empty until a channel that cannot
    be pushed to (REST) has handed it over on the customer's next call."""

    __tablename__ = "agent_messages"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    sender = Column(String(128), nullable=False, index=True)
    channel = Column(String(32))
    agent_id = Column(Integer, ForeignKey("staff.id"))
    text = Column(EncryptedText, nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    delivered_at = Column(DateTime)


class OrderVerification(Base):
    """A conversation that proved it belongs to an order's customer (the last four digits of the
    order's phone number): its order details and requests are open to that conversation."""

    __tablename__ = "order_verifications"

    id = Column(Integer, primary_key=True)
    sender = Column(String(128), nullable=False, index=True)
    # The channel the proof came through: a sender id is only unique within its channel, and a
    # REST client must not borrow a Telegram chat's proof by writing under its id.
    channel = Column(String(32), nullable=False, default="")
    order_id = Column(String(12), nullable=False)
    at = Column(DateTime, nullable=False, default=datetime.now)


class VerificationFailure(Base):
    """A wrong order number or phone digits, counted per conversation and per client address
    so that order numbers cannot be guessed."""

    __tablename__ = "verification_failures"

    id = Column(Integer, primary_key=True)
    sender = Column(String(128), nullable=False, index=True)
    address = Column(String(64), index=True)
    at = Column(DateTime, nullable=False, default=datetime.now)


class PrivacyAudit(Base):
    """A record of what was done with a customer's personal data (forgotten, exported, purged,
    keys rotated): who asked, about whom (a keyed hash, never the phone number) and how much."""

    __tablename__ = "privacy_audit"

    id = Column(Integer, primary_key=True)
    action = Column(String(32), nullable=False)
    subject = Column(String(64))  # lookup_hash of the phone, or of the sender id
    detail = Column(JSON, nullable=False, default=dict)
    operator = Column(String(64))
    at = Column(DateTime, nullable=False, default=datetime.now)


@cache
def get_engine(url: Optional[str] = None) -> Engine:
    """One engine per URL for the life of the process (engines own the connection pool)."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True, pool_pre_ping=True)


@contextmanager
def session_scope(engine: Optional[Engine] = None) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error."""
    factory = sessionmaker(bind=engine or get_engine(), future=True, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
