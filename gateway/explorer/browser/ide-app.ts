// The GraphQL IDE page: GraphiQL (bundled from npm, so it works offline) on this gateway's API, with the
// credential the explorer page was given. Queries and mutations go over HTTP; subscriptions over
// graphql-ws on the same URL, so a user can watch changes arrive while making them in another tab.
import 'graphiql/style.css';
import { GraphiQL, type GraphiQLProps } from 'graphiql';
import { getOperationAST, parse } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { byId } from './dom.ts';
import { authorizationHeaders, credential } from './gateway-client.ts';

type Fetcher = GraphiQLProps['fetcher'];
type FetcherResult = Awaited<ReturnType<Fetcher>>;

const defaultQuery = `# Your gateway's GraphQL API. Run with ▶ or Ctrl-Enter.
# The book icon (Docs) lists what your company may use.
{
  ledger {
    height
    head
  }
}
`;

let socket: Client | null = null;

function subscriptions(): Client {
  const value = credential();
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: value === null ? {} : { authorization: `Bearer ${value}` },
    lazy: true,
  });
  return socket;
}

function isSubscription(query: string, operationName: string | null | undefined): boolean {
  try {
    return getOperationAST(parse(query), operationName ?? undefined)?.operation === 'subscription';
  } catch {
    return false; // let the gateway report the syntax error
  }
}

const fetcher: Fetcher = async (params, options) => {
  if (isSubscription(params.query, params.operationName)) {
    return subscriptions().iterate({ query: params.query, variables: params.variables ?? {}, ...(params.operationName ? { operationName: params.operationName } : {}) }) as FetcherResult;
  }
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authorizationHeaders(), ...(options?.headers ?? {}) },
    body: JSON.stringify(params),
  });
  return (await response.json()) as FetcherResult;
};

createRoot(byId('ide')).render(createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: false }));
