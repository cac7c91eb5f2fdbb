// Which tickets an order issues: one per seat, one per GA place, numbered by place (pure).
import type { OrderLine } from './types.ts';

export interface TicketPlan {
  place: number;
  seatId: string | null;
  areaId: string | null;
  label: string;
  tierId: string;
  unitAmount: number;
}

export function ticketPlan(lines: OrderLine[]): TicketPlan[] {
  const plan: TicketPlan[] = [];
  for (const line of lines) {
    for (let i = 0; i < line.quantity; i++) {
      plan.push({
        place: plan.length + 1,
        seatId: line.kind === 'seat' ? (line.seatId ?? null) : null,
        areaId: line.kind === 'ga' ? (line.areaId ?? null) : null,
        label: line.kind === 'ga' ? `${line.description} #${i + 1}` : line.description,
        tierId: line.tierId,
        unitAmount: line.unitAmount,
      });
    }
  }
  return plan;
}
