"""The Salesforce REST client (OAuth, CRUD, collections, SOQL, replication) and its helpers.

``from sia_tui.salesforce.client import SalesforceClient``; ids in :mod:`.ids`, safe SOQL in :mod:`.soql`.
"""
