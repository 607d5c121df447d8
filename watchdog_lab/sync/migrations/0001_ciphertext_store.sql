-- WatchDog Lab vault sync: the server side. It holds ciphertext only.
--
-- Run it once per database: in Supabase, paste it into the SQL editor and run it; on any other
-- PostgreSQL, `watchdog-lab sync setup NAME --migrate` runs it (or psql -f). It is idempotent:
-- running it again changes nothing.
--
-- What the tables hold (docs/sync.md, "What the server learns"):
--   sync_vaults   one row per owner: the vault id, the Argon2id parameters and salt, and the data
--                 key wrapped under the vault password (useless without the password);
--   sync_records  one row per synced record: a random id, a version, a nonce, the AES-256-GCM
--                 ciphertext (associated data: vault id, record id, version, tombstone flag), a
--                 tombstone flag and a timestamp. Names, kinds, field names and values are all
--                 inside the ciphertext.
--
-- Row-level security is on for both tables, bound to auth.uid() as Supabase expects: every row
-- has an owner that defaults to auth.uid(), and a role sees, adds, changes and removes only
-- rows whose owner is auth.uid(). Nothing here needs the service_role key, and no policy
-- grants anything to anon.
--
-- On Supabase, auth.uid() already exists (it reads the caller's JWT claims). On a plain
-- PostgreSQL this script creates a minimal auth.uid() reading the `request.jwt.claim.sub`
-- setting, and only if no auth.uid() exists; the WatchDog Lab client sets that setting at the
-- start of each transaction to the connection's owner uuid. The same setting is what
-- Supabase's own auth.uid() reads first, so one client works with both.

do $$
begin
  -- Supabase has this role; a plain PostgreSQL gets it so the grants below have a holder.
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  -- Supabase has auth.uid() (owned by its auth service, not to be touched): only a plain
  -- PostgreSQL gets this one.
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    create schema if not exists auth;
    execute $fn$
      create function auth.uid() returns uuid
      language sql stable
      as $body$
        select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid
      $body$
    $fn$;
    grant usage on schema auth to authenticated;
    grant execute on function auth.uid() to authenticated;
  end if;
end
$$;

create schema if not exists watchdog_lab_sync;
grant usage on schema watchdog_lab_sync to authenticated;

create table if not exists watchdog_lab_sync.sync_vaults (
  owner uuid primary key default auth.uid(),
  vault_id text not null,
  format_version integer not null,
  kdf text not null,
  salt bytea not null,
  wrapped_key bytea not null,
  version bigint not null check (version > 0),
  updated_at timestamptz not null default now()
);

create table if not exists watchdog_lab_sync.sync_records (
  owner uuid not null default auth.uid(),
  id uuid not null,
  version bigint not null check (version > 0),
  nonce bytea not null check (octet_length(nonce) = 12),
  ciphertext bytea not null,
  deleted boolean not null default false,
  updated_at timestamptz not null default now(),
  primary key (owner, id)
);

alter table watchdog_lab_sync.sync_vaults enable row level security;
alter table watchdog_lab_sync.sync_records enable row level security;

grant select, insert, update, delete on watchdog_lab_sync.sync_vaults to authenticated;
grant select, insert, update, delete on watchdog_lab_sync.sync_records to authenticated;

do $$
declare
  t text;
begin
  foreach t in array array['sync_vaults', 'sync_records'] loop
    if not exists (
      select 1 from pg_policies where schemaname = 'watchdog_lab_sync' and tablename = t
    ) then
      execute format(
        'create policy %I on watchdog_lab_sync.%I for select to authenticated '
        'using (owner = auth.uid())', t || '_select', t);
      execute format(
        'create policy %I on watchdog_lab_sync.%I for insert to authenticated '
        'with check (owner = auth.uid())', t || '_insert', t);
      execute format(
        'create policy %I on watchdog_lab_sync.%I for update to authenticated '
        'using (owner = auth.uid()) with check (owner = auth.uid())', t || '_update', t);
      execute format(
        'create policy %I on watchdog_lab_sync.%I for delete to authenticated '
        'using (owner = auth.uid())', t || '_delete', t);
    end if;
  end loop;
end
$$;
