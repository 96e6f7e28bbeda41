"""Signatures and certificates, a leaf that everything above may use.

- `pki`: keys, certificates and CRLs of the development PKI, and loading a participant's key;
- `trust`: the exchange's trust anchors: chains, key sizes, key usage, validity, CRLs;
- `xmldsig`: enveloped XML signatures of requests and of the commercial register's extracts;
- `jws`: compact JWS with `x5c`, verified and signed;
- `xades`, `canonical`: the XAdES-BES seal of XML responses, written in canonical form;
- `seal`: sealing responses, and checking a seal again;
- `safe_xml`: parsing XML from outside with entities, DTDs and the network off.

May import only errors, ids and the protocol constants.
"""
