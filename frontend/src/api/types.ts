// Short names for the contract's schemas (generated into schema.d.ts from the merged public contract).
import type { components } from './schema';

type S = components['schemas'];
export type User = S['users.User'];
export type Session = S['users.Session'];
export type EventSummary = S['catalog.EventSummary'];
export type EventDetail = S['catalog.Event'];
export type Category = S['catalog.Category'];
export type SeatMap = S['catalog.SeatMap'];
export type Tier = S['catalog.Tier'];
export type Venue = S['catalog.Venue'];
export type VenueSummary = S['catalog.VenueSummary'];
export type Availability = S['inventory.Availability'];
export type AvailabilityChange = S['inventory.AvailabilityChange'];
export type SeatStatus = S['inventory.SeatStatus'];
export type Hold = S['inventory.Hold'];
export type Order = S['orders.Order'];
export type Ticket = S['orders.Ticket'];
export type PaymentMethod = S['payments.PaymentMethod'];
export type Receipt = S['payments.Receipt'];
export type Sales = S['orders.Sales'];

export const CATEGORIES: Category[] = [
  'concert',
  'theatre',
  'comedy',
  'sports',
  'family',
  'festival',
  'conference',
  'other',
];
