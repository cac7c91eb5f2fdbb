// An event's schedule: start/end in the venue's zone and the sales window. Rules: the event ends after it
// starts; sales open before they close; sales never open or stay open after the event has ended.
import { ProblemList, type DomainProblem } from './problems.ts';
import { isSupportedInstant, parseEventTime } from './time.ts';

export interface ScheduleInput {
  startsAt: string;
  endsAt: string;
  salesStartAt?: string;
  salesEndAt?: string;
}
export interface Schedule {
  startsAt: Date;
  endsAt: Date;
  salesStartAt: Date;
  salesEndAt: Date;
}

export function buildSchedule(
  input: ScheduleInput,
  zone: string,
  now: Date,
): { schedule?: Schedule; problems: DomainProblem[] } {
  const problems = new ProblemList();
  const read = (field: keyof ScheduleInput): Date | undefined => {
    const text = input[field];
    if (text === undefined) return undefined;
    const d = parseEventTime(text, zone);
    if (!d) problems.add(field, 'invalid-date', `"${text}" is not a real date and time`);
    else if (!isSupportedInstant(d))
      problems.add(field, 'date-out-of-range', `"${text}" is outside the supported years 1970 to 9999`);
    return d && isSupportedInstant(d) ? d : undefined;
  };
  const startsAt = read('startsAt');
  const endsAt = read('endsAt');
  const salesStartIn = read('salesStartAt');
  const salesEndIn = read('salesEndAt');
  if (!problems.empty || !startsAt || !endsAt) return { problems: problems.items };

  // Sales open now and close when the show starts unless the organizer says otherwise.
  const salesStartAt = salesStartIn ?? new Date(Math.min(now.getTime(), startsAt.getTime()));
  const salesEndAt = salesEndIn ?? startsAt;
  if (endsAt <= startsAt) problems.add('endsAt', 'end-before-start', 'The event must end after it starts');
  if (salesEndAt <= salesStartAt) problems.add('salesEndAt', 'empty-sales-window', 'Sales must close after they open');
  if (salesStartAt >= endsAt)
    problems.add('salesStartAt', 'sales-window-after-event', 'Sales cannot open after the event has ended');
  if (salesEndAt > endsAt)
    problems.add('salesEndAt', 'sales-window-after-event', 'Sales cannot stay open after the event has ended');
  if (!problems.empty) return { problems: problems.items };
  return { schedule: { startsAt, endsAt, salesStartAt, salesEndAt }, problems: [] };
}
