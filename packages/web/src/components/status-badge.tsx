/** A status as a fixed-width badge: a row does not reflow when its status changes. */
export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge status-${status.toLowerCase()}`} data-testid={testId}>
      {status}
    </span>
  );
}
